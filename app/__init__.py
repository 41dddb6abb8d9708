"""switchboard: one GraphQL API over five telephony vendors."""
