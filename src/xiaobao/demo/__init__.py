"""Demo data: a deterministic organisation, users and complaints (see `xiaobao.demo.generator`)."""
