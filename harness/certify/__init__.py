"""Certify a user's export: scan its ops, discover its interface, make its data, write the certificate."""
