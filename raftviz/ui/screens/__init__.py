"""Modal screens: help and the small dialogs controls open."""
