"""全国工程质量安全监管信息平台 (core floor: imports no area): the HTTP client, the app's client or embedded
simulator, the report payload and the durable reporting outbox."""
