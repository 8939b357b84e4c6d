"""Users, login, organisations, memberships, invitations, verification."""
