"""World geography: country boundaries, UN regions and subregions (Natural Earth)."""
