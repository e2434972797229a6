"""The till's configuration: settings, the secrets in the OS keyring, and building
providers from profiles."""
