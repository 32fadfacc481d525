"""One search run: its experiment resolved once, the tuner built for it, and each trial trained the same way in
whichever process runs it."""
