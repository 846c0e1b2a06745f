"""The organisation: its file (programs, teams, members, adoptions), routing, working hours and who
may do what."""
