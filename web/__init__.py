"""Server-rendered pages (Jinja2): templates, the layout, the navigation per role."""
