"""Included under /hooks/ by cxloop.config.urls: the callback URL to paste into the Meta app."""

from django.urls import path

from cxloop.channels.whatsapp import views

app_name = "channels_whatsapp"

urlpatterns = [
    path("whatsapp", views.webhook, name="webhook"),
]
