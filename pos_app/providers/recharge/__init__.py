"""ReCharge (Recharge Payments) Checkouts API adapter: hosted checkout and lookup."""
