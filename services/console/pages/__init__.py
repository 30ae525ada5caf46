"""The console's pages, one module per piece of work; each has its own router."""
