"""kerastune's command line: thin commands that call the library and show what it returns."""
