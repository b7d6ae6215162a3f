"""Storefronts and their keys in admin: the library's key admin (hashed, named, expiring,
revocable) with the key's storefront, scopes and last use beside it."""

from datetime import datetime

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ApiKeyProfile, ApiScope, Storefront


class ApiKeyProfileForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiKeyProfile
        fields = ["storefront", "scopes"]


class ApiKeyProfileInline(admin.StackedInline):
    model = ApiKeyProfile
    form = ApiKeyProfileForm
    can_delete = False
    min_num = 1
    max_num = 1
    readonly_fields = ["last_used_at"]
    fields = ["storefront", "scopes", "last_used_at"]


admin.site.unregister(APIKey)


@admin.register(APIKey)
class StorefrontKeyAdmin(APIKeyModelAdmin):
    inlines = [ApiKeyProfileInline]
    # The library's own lists are typed at their exact length; Django takes any sequence.
    list_display = [*APIKeyModelAdmin.list_display, "storefront", "scopes", "last_used"]  # type: ignore[assignment]
    list_filter = [*APIKeyModelAdmin.list_filter, "profile__storefront"]  # type: ignore[assignment]
    list_select_related = ["profile__storefront"]

    @admin.display(description=ApiKeyProfile._meta.get_field("storefront").verbose_name)
    def storefront(self, obj: APIKey) -> object:
        profile = getattr(obj, "profile", None)
        return profile.storefront if profile else "-"

    @admin.display(description=ApiKeyProfile._meta.get_field("scopes").verbose_name)
    def scopes(self, obj: APIKey) -> str:
        profile = getattr(obj, "profile", None)
        return ", ".join(profile.scopes) if profile else "-"

    @admin.display(description=ApiKeyProfile._meta.get_field("last_used_at").verbose_name)
    def last_used(self, obj: APIKey) -> datetime | None:
        profile = getattr(obj, "profile", None)
        return profile.last_used_at if profile else None


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    """The shop fronts whose keys sync orders; a key sees its storefront's data only."""

    list_display = ["name", "active", "is_default", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["is_default", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Storefront | None = None) -> bool:
        # Customers, orders and keys point at it; deactivate it instead.
        return False
