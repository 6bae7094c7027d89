"""`crackdown demo`: the whole product offline, on loopback peers."""
