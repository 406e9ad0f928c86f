"""Payment adapters: terminals and hosted-charge providers behind `edge.service.payment_ports`."""
