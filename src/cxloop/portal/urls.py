from django.urls import path

from cxloop.portal import promises, surveys, views

app_name = "portal"

urlpatterns = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/unsubscribe/", views.one_click_unsubscribe, name="unsubscribe"),
    path("promises/<str:token>/", promises.promises_page, name="promises"),
    path("s/<str:token>/", surveys.survey_page, name="survey"),
    path("s/<str:token>/partial/", surveys.save_partial, name="survey_partial"),
    path("s/<str:token>/thanks/", surveys.thanks_page, name="survey_thanks"),
]
