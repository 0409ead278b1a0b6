"""The users reference service: registration of users, with courses to enrol in."""
