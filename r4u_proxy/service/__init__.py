"""The long-running service: the embedded mitmproxy (`proxy`), its UI child (`ui_server`), the CA (`ca`)."""
