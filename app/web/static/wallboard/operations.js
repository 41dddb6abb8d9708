// The wallboard's GraphQL documents (schema.graphql: activeCalls, callEvents, holdCall,
// retrieveCall, hangupCall, Call.capabilities).

// What a row shows: state, capabilities, and the agent / line each vendor knows.
const CALL_FIELDS = `
  __typename id vendor state vendorState capabilities startedAt version
  ... on GenesysCall { dnis participants { formattedPhoneNumber } }
  ... on VoipNowCall { extension views { extension source destination } }
  ... on HuaweiCall { caller called }
  ... on VerbaCall { recordedExtension: extension }
`;

// The vendors with an API to list calls in progress (others answer NOT_SUPPORTED).
export const LIST_VENDORS = ["GENESYS", "VOIPNOW"];

// One request per vendor: activeCalls is non-null, so one vendor's error in a shared
// request would null the others' calls too.
export const ACTIVE_CALLS = `query WallboardActiveCalls($vendor: Vendor!) {
  activeCalls(vendor: $vendor) { ${CALL_FIELDS} }
}`;

// `after`: the cursor of the last event seen, so that a resubscription first gets what
// went by meanwhile (a RESYNC event, with every call in scope, when that is too old).
export const CALL_EVENTS = `subscription WallboardCallEvents($after: String) {
  callEvents(after: $after) {
    kind cursor callId previousState state at
    call { ${CALL_FIELDS} }
    calls { ${CALL_FIELDS} }
  }
}`;

// Capability -> the mutation that performs it.
export const COMMANDS = {
  HOLD: { label: "Hold", mutation: "holdCall" },
  RETRIEVE: { label: "Retrieve", mutation: "retrieveCall" },
  HANGUP: { label: "Hang up", mutation: "hangupCall" },
};

export function commandDocument(mutation) {
  return `mutation Wallboard_${mutation}($id: ID!) { ${mutation}(id: $id) { ${CALL_FIELDS} } }`;
}
