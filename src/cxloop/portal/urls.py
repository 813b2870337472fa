from django.urls import path

from cxloop.portal import views

app_name = "portal"

urlpatterns = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/unsubscribe/", views.one_click_unsubscribe, name="unsubscribe"),
]
