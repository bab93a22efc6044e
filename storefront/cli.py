"""The ``storefront`` command line."""

from __future__ import annotations

import os
from importlib import import_module

import click

from .settings import SettingsError

# Every command is loaded only when run, so the heavy imports of one (SQLAlchemy,
# WeasyPrint, ebooklib) never slow `storefront check` or a no-op `storefront flyers`.
LAZY_COMMANDS = {
    "check": "storefront.commands.check:check",
    "serve": "storefront.commands.serve:serve",
    "sample": "storefront.commands.sample:sample",
    "flyers": "storefront.commands.flyers:flyers",
    "widget": "storefront.commands.widget:widget",
    "links": "storefront.commands.links:links",
    "stats": "storefront.commands.stats:stats",
    "export": "storefront.commands.export:export",
    "admin": "storefront.commands.admin:admin",
    "backlist": "storefront.commands.backlist:backlist",
    "presskit": "storefront.commands.presskit:presskit",
    "readers": "storefront.commands.readers:readers",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module the first time it is needed."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(import_module(module), attr), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        # An author's mistake (a setting, a folder that cannot be written) is one line
        # and exit status 1, from every command, never a traceback.
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            raise  # click's own handling: the reader of our output went away
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from None


def describe_os_error(exc: OSError) -> str:
    """``cannot use '/srv/out/.x.builds': Permission denied`` for an OSError."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    return f"cannot use '{os.fsdecode(exc.filename)}': {reason}"


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="storefront")
def main() -> None:
    """Storefront: an author's own storefront and promo kit."""


if __name__ == "__main__":  # pragma: no cover
    main()
