"""Pishkhan Edge: the shared domain core.

Every app (kiosk, display, edge_agent, provisioning, central) imports from
here; nothing here imports an app.
"""

__version__ = "0.1.0"
