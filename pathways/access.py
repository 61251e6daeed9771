"""Who may act on pathway objects that are not reached through a patient the user sees:
a referral seen by the service it was sent to, a tele-expertise request seen by its
expert, the care plan validated by the patient's GP. Patient data itself is always reached
through `patients.access` (the one policy); these functions decide the narrower cases
and audit them the same way."""
