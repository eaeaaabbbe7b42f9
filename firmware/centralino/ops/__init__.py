"""Operating the appliance: systemd notification and watchdog, the control socket and its commands."""
