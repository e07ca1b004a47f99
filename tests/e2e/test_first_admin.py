"""Auth on and no admin yet: the console's first screen sets the admin's password (from loopback)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.support import ADMIN_PASSWORD, AUTH_ON, Console, running


def test_first_screen_sets_the_admin_password_then_login_is_asked(
    console: Console, tmp_path: Path, browser: object
) -> None:
    with running(tmp_path / "home", AUTH_ON) as server:
        page = console.page
        console.open(server.base)
        expect(page.locator("#first-admin-form")).to_be_visible()
        assert page.locator("#login-form").count() == 0

        page.fill("#admin-password", ADMIN_PASSWORD)
        page.fill("#admin-password-again", "something else")
        page.click("#first-admin-form button[type=submit]")
        expect(page.locator("#first-admin-form .notice.error")).to_contain_text("differ")

        page.fill("#admin-password-again", ADMIN_PASSWORD)
        page.click("#first-admin-form button[type=submit]")
        expect(page.locator(".user .who")).to_have_text("nacos")
        expect(page.locator("nav.nav")).to_contain_text("Auth health")  # an admin's navigation

        other = Console(browser)  # another tab or visitor: an admin exists now, so it is asked to log in
        try:
            other.open(server.base)
            expect(other.page.locator("#login-form")).to_be_visible()
            assert other.page.locator("#first-admin-form").count() == 0
            other.login(server.base, "nacos", ADMIN_PASSWORD)
            expect(other.page.locator(".user .who")).to_have_text("nacos")
        finally:
            other.close()
        assert not other.problems, other.problems
