"""The certificate (core floor: imports no area): its models and issuing authorities, numbering, the issuing
service, the sealed PDF (render, seal, sign, check) and the certs/authority commands."""
