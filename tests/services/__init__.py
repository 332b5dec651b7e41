"""Real services that the test suite starts itself (see GUIDE.md section 4)."""
