"""The customer touchscreen (Kivy), with staff mode."""
