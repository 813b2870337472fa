from django.urls import path

from cxloop.channels.phone import views

app_name = "phone"

urlpatterns = [
    path("customers/<str:public_id>/calls/", views.log_call, name="log-call"),
]
