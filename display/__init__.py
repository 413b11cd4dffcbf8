"""The board renderer (Pillow) and the wall-display app."""
