"""Claims operations: online claims factory (线上理赔工厂) and catastrophe command (大灾指挥平台)."""
