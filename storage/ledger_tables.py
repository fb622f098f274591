"""Tables of the subsidy ledger (filled in by the ledger issue)."""
