"""One module per page type of `baes view`."""
