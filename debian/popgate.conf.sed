# popgate.conf.sed - Debian's defaults over the upstream sample popgate.conf (see README.Debian).
1a\
;\
; Debian: POP3 on 110 and POP3S on 995 with the certificate and key in /etc/popgate/tls, no SMTP\
; listener (port 25 is the MTA's), the relay map in /var/lib/popgate/drac.db for the MTA.
/^\[tls\]/,/^\[/{
	s|^;cert_file =$|cert_file = /etc/popgate/tls/cert.pem|
	s|^;key_file =$|key_file = /etc/popgate/tls/key.pem|
}
/^\[smtp\]/,/^\[/{
	s|^;listen = \*:25, \*:587$|listen =|
	s|^;listen_tls = \*:465$|listen_tls =|
}
/^\[relay\]/,/^\[/{
	s|^;export_map =$|export_map = /var/lib/popgate/drac|
}
