from django.contrib import admin
from django.urls import include, path

from cxloop.api.main import api

admin.site.site_header = "cxloop administration"
admin.site.site_title = "cxloop admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("cxloop.web.urls")),
]
