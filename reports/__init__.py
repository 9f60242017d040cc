"""Result -> view model -> report writers (HTML, JSON, CSV, XLSX) and graphs."""
