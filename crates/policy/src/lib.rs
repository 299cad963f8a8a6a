//! Who may see what: role sections, relationship, break-glass, objections, sensitive items (pure, no I/O)
