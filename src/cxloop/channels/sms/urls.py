"""Included under /hooks/ by cxloop.config.urls: the URLs to paste into the Twilio console."""

from django.urls import path

from cxloop.channels.sms import views

app_name = "channels_sms"

urlpatterns = [
    path("twilio/sms", views.inbound, name="inbound"),
    path("twilio/status", views.status, name="status"),
]
