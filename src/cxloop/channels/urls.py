from django.urls import path

from cxloop.channels import views

urlpatterns = [
    path("social", views.social_webhook, name="social-webhook"),
]
