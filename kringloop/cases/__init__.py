"""Cases: a low score worked by a loyalty team until the loop is closed."""
