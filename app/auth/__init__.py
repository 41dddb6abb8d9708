"""Who is asking: credentials (JWT, API keys), principals with scopes and phone lines,
which calls a principal may see and touch, browser origins, command rates and the audit
record of every command. The GraphQL layer asks; nothing here knows GraphQL."""
