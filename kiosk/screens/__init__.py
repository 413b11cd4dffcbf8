"""The kiosk's screens: one module per screen (staff screens together)."""
