"""AWS access: the standard boto3 credential chain (``credentials``), and signing in through
Okta to a named profile (``okta``, ``profile``, ``totp``). No password, token or key is ever
logged; ``quiet_aws_logs`` keeps the libraries that would log them (botocore, httpx) quiet."""
