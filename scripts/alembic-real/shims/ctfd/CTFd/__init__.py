"""Stand-in for the CTFd application: only what its revisions import."""
