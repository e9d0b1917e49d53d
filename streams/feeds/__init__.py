"""Feed adapters: live sources that produce items onto the raw topics (`salvo connect`)."""
