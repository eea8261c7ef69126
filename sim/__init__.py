"""Labour-market ABM."""
