"""The users service's contract: wire types (DTOs) and typed clients."""
