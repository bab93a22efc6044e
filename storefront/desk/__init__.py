"""The author's desk: the non-view logic behind ``/admin/`` (no Flask in these modules).

* :mod:`.auth` — the password hash and the session generation;
* :mod:`.fields` — what each catalog table holds, as form fields;
* :mod:`.document` — editing the catalog TOML with tomlkit (comments and order kept);
* :mod:`.history` — atomic saves, every previous version, diffs, restores, and the
  catalog versions kept in the database for several app servers;
* :mod:`.builds` — a campaign's print pieces built in the background, with progress;
* :mod:`.throttle` — wrong passwords and tokens slowed per client, in the database.
* :mod:`.tables` — the desk's tables, declared once for the modules and the migrations.
"""
