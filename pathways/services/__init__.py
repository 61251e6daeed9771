"""Writes on pathways, care plans, referrals, tele-expertise and alerts, one module per
concept. Each function is `@transaction.atomic`, takes keyword arguments, records its
transitions and timeline events, and audits the access it makes to patient data."""
