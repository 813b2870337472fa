"""Views of the staff UI, one file per area; each is thin: parse, authorise, one service or query call, render."""
