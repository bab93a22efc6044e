"""The author's desk: the non-view logic behind ``/admin/`` (no Flask in these modules).

* :mod:`.auth` — the password hash, the session generation and sign-in slowing;
* :mod:`.fields` — what each catalog table holds, as form fields;
* :mod:`.document` — editing the catalog TOML with tomlkit (comments and order kept);
* :mod:`.history` — atomic saves, every previous version, diffs, restores, and the
  catalog versions kept in the database for several app servers;
* :mod:`.linkreport` — the last ``storefront links check`` result.
"""
