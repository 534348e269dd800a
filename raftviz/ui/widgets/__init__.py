"""The interface's widgets; each owns the reactives it draws from (see app.py for layout)."""
